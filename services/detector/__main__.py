import os

# The detector's matrix products are small (64 x 64): one BLAS thread is faster than several, and
# leaves the other cores to the other replicas.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import asyncio  # noqa: E402 - the BLAS thread variables must be set before numpy is imported

from services.detector.app import app  # noqa: E402 - imports numpy: after the variables above

if __name__ == "__main__":
    asyncio.run(app.run())
