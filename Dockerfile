# The demo project's image: web (gunicorn), workers and receiver; see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=demo.settings

WORKDIR /app

# The package and its dependencies first, so that the layer is cached while only the demo
# changes. psycopg[binary] brings its own libpq: no compiler or system libraries needed.
COPY pyproject.toml README.md ./
COPY webhooks_app ./webhooks_app
RUN pip install ".[demo]"

COPY manage.py ./
COPY demo ./demo
# Static files are collected into the image (run/static) and served by whitenoise.
RUN python manage.py collectstatic --noinput --verbosity 0

# Run as an unprivileged user that owns nothing in the image.
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin webhooks
USER webhooks

EXPOSE 8000 9000
CMD ["gunicorn", "demo.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
