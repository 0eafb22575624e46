"""Running the heavy stages on a cluster of machines instead of this process.

Only embedding and placing calls in modes go out: they are the stages whose work splits into
independent chunks and grows with the log. Everything that reads or writes the workspace stays
here, so the workspace file never leaves the machine that owns it. Ray is optional: nothing
imports it unless asked to (`faultline embed --ray`, `faultline cluster --ray`).
"""

from mining.scale.ray_engine import RayEngine, RayUnavailable, ray_address

__all__ = ["RayEngine", "RayUnavailable", "ray_address"]
