"""The deployment report: a pure model of a rollout (``model.py``), one renderer per format
(``markdown.py``, ``html.py``, ``jsonreport.py``), and the reading and writing (``gather.py``)."""
