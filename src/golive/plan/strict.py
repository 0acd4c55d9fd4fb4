"""What every model of the plan's schema shares: strictness, and the shape of a name.

Unknown keys are errors (a typo never passes as a default) and values are frozen. Each model
says ``model_config = STRICT`` on ``pydantic.BaseModel`` itself (``plan/spec.py`` through its
``Strict`` base), so that linters see a pydantic model in every file.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
