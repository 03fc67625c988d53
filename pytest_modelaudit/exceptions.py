"""How a claim that does not hold fails a test."""


class AuditFailure(AssertionError):
    """The claim does not hold: the measured value is on the wrong side of the threshold."""


class AuditInconclusive(AssertionError):
    """The evidence cannot decide the claim (never a pass); fails the test by default."""
