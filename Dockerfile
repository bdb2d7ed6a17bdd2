# One image for every la2ds process: the serving process (`la2ds serve`), the Dask scheduler and
# workers, and training. Same code, same pinned versions (pyproject.toml) everywhere.
#
# CPU image (the default):  docker build -t la2ds:latest .
# GPU image: point TORCH_INDEX_URL at the PyTorch CUDA wheel index that carries the torch version
# pinned in pyproject.toml, e.g.
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t la2ds:latest .
# (with docker compose: TORCH_INDEX_URL=... docker compose build). See docs/compose.md.
FROM python:3.11-slim

# Where torch comes from. The CPU index keeps the image free of the CUDA libraries.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    NUMBA_CACHE_DIR=/tmp/numba

WORKDIR /app

# torch first, in its own layer (the largest download, rebuilt only when pyproject.toml changes),
# from TORCH_INDEX_URL, at exactly the version pinned in pyproject.toml (read here, not repeated).
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print(next(d for d in deps if d.replace(' ', '').startswith('torch==')))" > /tmp/torch-requirement.txt \
 && pip install --index-url "$TORCH_INDEX_URL" -r /tmp/torch-requirement.txt \
 && rm /tmp/torch-requirement.txt

# The project itself (the packages listed in pyproject.toml [tool.setuptools.packages.find]).
COPY la2ds ./la2ds
COPY pipeline ./pipeline
COPY storage ./storage
COPY models ./models
COPY flows ./flows
RUN pip install . \
 && rm -rf build ./*.egg-info

# Non-root user. /cache and /data exist in the image and belong to it, so that a fresh named volume
# mounted at /cache starts out writable by this user.
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin la2ds \
 && mkdir -p /cache /data /tmp/numba \
 && chown la2ds:la2ds /cache /data /tmp/numba
USER la2ds

CMD ["la2ds", "serve"]
