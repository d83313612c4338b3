FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_HOME=/srv/app \
    APP_USER=app
RUN useradd --create-home ${APP_USER}

FROM base AS deps
WORKDIR ${APP_HOME}
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt

FROM deps AS runner
COPY --chown="${APP_USER}":"${APP_USER}" . ${APP_HOME}
USER ${APP_USER}
VOLUME ["/srv/app/data"]
EXPOSE 8000
CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]
