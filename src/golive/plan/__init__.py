"""The plan: the declarative description of one go-live, parsed strictly into frozen values.

``golive.plan.loader.load_plan`` reads a file; ``golive.plan.model`` holds the values.
"""
