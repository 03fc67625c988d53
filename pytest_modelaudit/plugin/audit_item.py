"""A test item that is one audit without a test function: the scan's default claims and the TOML claims."""
from __future__ import annotations

from typing import Any

import pytest


class AuditItem(pytest.Item):
    """Runs `run_audit` with a fresh Audit (recorded like a Python audit); a verdict or input error is shown as
    its message, not as a traceback of the plugin."""

    def run_audit(self, audit: Any) -> None:
        raise NotImplementedError

    def failure_text(self, message: str) -> str:
        """The message of a FAIL, INCONCLUSIVE or input error as the terminal shows it."""
        return message

    def runtest(self) -> None:
        from .audit import Audit
        from .keys import AUDIT_KEY, SETTINGS_KEY

        settings = self.config.stash[SETTINGS_KEY]
        if not settings.enabled:
            pytest.skip("model audits are off (run pytest --model-audit)")
        audit = Audit(self.nodeid, settings)
        self.stash[AUDIT_KEY] = audit
        self.run_audit(audit)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from ..errors import AuditFailure, AuditInconclusive, ModelAuditError

        if excinfo.errisinstance((AuditFailure, AuditInconclusive, ModelAuditError)):
            return self.failure_text(str(excinfo.value))
        return super().repr_failure(excinfo, style=style)
