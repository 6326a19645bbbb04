# iamwhy: the Slack app (`iamwhy serve`). Configuration comes from the environment; see the README.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    XDG_STATE_HOME=/var/lib

WORKDIR /app
COPY pyproject.toml setup.py README.md app.py ./
COPY diagnostics ./diagnostics
COPY handlers ./handlers
# The package alone: no test or development extras. The build compiles the parser (setup.py), so a C compiler is
# installed for it and removed after.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install . \
    && cd / && python -c 'import sys, diagnostics; sys.exit(0 if diagnostics.COMPILED else "the parser was not compiled")' \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin iamwhy \
    && mkdir -p /var/lib/iamwhy && chown 10001 /var/lib/iamwhy

# Without IAMWHY_STATE_URL the state is the SQLite file /var/lib/iamwhy/state.db: mount a volume here to keep
# the job journal, seen events and stored answers across restarts.
VOLUME /var/lib/iamwhy

USER 10001
EXPOSE 3000

# The slim image has no curl: python's urllib asks /healthz, which answers 503 when Slack or AWS refuse the
# bot's credentials (urlopen raises, so the check fails).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]

ENTRYPOINT ["iamwhy", "serve"]
