"""The plan: the declarative description of one go-live, parsed strictly into frozen values."""

from golive.plan.loader import load_plan, parse_plan, plan_schema
from golive.plan.model import Plan, Revision, Split

__all__ = ["Plan", "Revision", "Split", "load_plan", "parse_plan", "plan_schema"]
