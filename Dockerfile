# The production image: gunicorn serves the panel; the same image runs the Celery
# worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VAR_DIR=/var/lib/smmpanel \
    STATIC_ROOT=/app/staticfiles

RUN useradd --system --create-home --home-dir /app smmpanel \
    && mkdir -p /var/lib/smmpanel && chown smmpanel /var/lib/smmpanel
WORKDIR /app

# Exactly the locked, hash-checked versions (`make lock` writes requirements.lock).
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY --chown=smmpanel . .
# collectstatic needs settings but no database or secret: a throwaway key for this step only.
RUN SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --no-input -v0

USER smmpanel
EXPOSE 8000
CMD ["gunicorn", "smmpanel.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
