# INDIGO image: one image for every role (web, migrate, worker, beat); compose picks the command.
FROM python:3.11-slim

# PYTHONPATH=/app: run the code from /app, never from the copy that `pip install .` puts in site-packages,
# because the settings derive BASE_DIR (templates/, static/, locale/) from where indigo/settings.py is.
# INDIGO_VAR_DIR: var files; STATIC_ROOT is $INDIGO_VAR_DIR/static (collected below), beat's schedule too.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=indigo.settings \
    INDIGO_VAR_DIR=/var/lib/indigo \
    GUNICORN_WORKERS=3

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml or requirements.lock change.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.in \
    && pip install -c requirements.lock -r /tmp/requirements.in \
    && rm /tmp/requirements.in

COPY . .
RUN pip install -c requirements.lock .

# Translations: .mo files are not in git, so compile them here, with the same script as `make messages`
# (every locale/**/LC_MESSAGES/*.po, so locale/contrib's django and djangojs catalogs too when present).
# Not `pybabel compile`: it skips, with exit 0, every catalog whose header carries `#, fuzzy` (as
# makemessages writes it), which would ship an image without translations. The test makes sure it did not.
RUN python scripts/compile_messages.py \
    && test -f locale/ru/LC_MESSAGES/django.mo \
    && test -f locale/kk/LC_MESSAGES/django.mo

# Static files into $INDIGO_VAR_DIR/static, hashed and compressed (DEBUG=0 selects the manifest storage).
# The SECRET_KEY here is a throwaway that exists only for this one RUN line; it is not kept in the image.
RUN DEBUG=0 \
    SECRET_KEY=build-time-only-not-a-secret \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3

# Non-root runtime user; the code stays root-owned (read-only for the app), only the var dir is writable.
RUN groupadd --system --gid 10001 indigo \
    && useradd --system --uid 10001 --gid indigo --home-dir /var/lib/indigo --no-create-home \
        --shell /usr/sbin/nologin indigo \
    && mkdir -p "$INDIGO_VAR_DIR" \
    && chown -R indigo:indigo "$INDIGO_VAR_DIR"
USER 10001:10001

EXPOSE 8000

# GUNICORN_WORKERS: about 2 x cores + 1 (3 suits one core). Shell form so that the variable is expanded;
# `exec` makes gunicorn PID 1 so that it receives SIGTERM from `docker stop`.
CMD ["sh", "-c", "exec gunicorn indigo.wsgi:application --bind 0.0.0.0:8000 --workers \"${GUNICORN_WORKERS}\" --access-logfile - --error-logfile -"]
