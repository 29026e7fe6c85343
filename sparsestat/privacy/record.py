"""The privacy guarantee of a fit, :class:`PrivacyRecord`: a frozen record built from public parameters
only (the ``privacy_`` attribute of the estimators); ``str()`` is a readable report."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PrivacyRecord"]


@dataclass(frozen=True)
class PrivacyRecord:
    """The privacy guarantee of a fit, built from public parameters only.

    Attributes
    ----------
    model : str
        "local, non-interactive" or "local, sequentially interactive".
    epsilon, delta : float
        Total per-user guarantee.
    mechanism : str
    calibration : str or None
        None for Laplace.
    sigmas : tuple of float
        Per-user noise scale per release (Gaussian sigma or Laplace b); per round for LDP-IHT.
    sensitivities : tuple of float
        Sensitivity per release (l2 for Gaussian, l1 for Laplace); per round for LDP-IHT.
    composition : str
    x_clip_l2, x_clip, y_clip : float or None
    n_users : int
    seeded : bool
        True when ``random_state`` was an int: the fit is a reproducible simulation, not a deployment.
    """

    model: str
    epsilon: float
    delta: float
    mechanism: str
    calibration: str | None
    sigmas: tuple
    sensitivities: tuple
    composition: str
    x_clip_l2: float | None
    x_clip: float
    y_clip: float
    n_users: int
    seeded: bool

    def __str__(self) -> str:
        guarantee = f"({self.epsilon:g}, {self.delta:g})-LDP" if self.delta else f"{self.epsilon:g}-LDP (pure)"
        lines = [
            f"Privacy: {guarantee} per user, {self.model} model",
            f"  mechanism: {self.mechanism}" + (f" ({self.calibration} calibration)" if self.calibration else ""),
            f"  composition: {self.composition}",
            "  noise scale per release: " + ", ".join(f"{s:.6g}" for s in self.sigmas),
            "  sensitivity per release: " + ", ".join(f"{s:.6g}" for s in self.sensitivities),
            f"  clip levels: x_clip_l2={self.x_clip_l2}, x_clip={self.x_clip}, y_clip={self.y_clip}",
            f"  users: {self.n_users}",
        ]
        if self.seeded:
            lines.append("  SEEDED: a reproducible simulation; the seed and statistics_ reveal the noise. "
                         "Deploy with random_state=None or device-held keys.")
        lines.append("  note: floating-point noise is not hardened against floating-point attacks (Mironov 2012)")
        return "\n".join(lines)

