import os

from hypothesis import HealthCheck, settings

# Timing varies on shared CI machines, so no per-example deadline. Under CI the examples are
# derandomized, so a run is reproducible; locally every run explores new examples.
settings.register_profile(
    "tinymed",
    deadline=None,
    max_examples=40,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("tinymed")

import matplotlib

matplotlib.use("Agg")  # figures are drawn to files; no screen is needed
