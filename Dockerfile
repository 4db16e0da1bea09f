# One image for every process of the platform: each service is
#   nameko run --config deploy/nameko.yaml services.<name>.service:<Name>Service
# and the gateway is the default command (uvicorn). docker-compose.yml runs them all.

# the staff console (web/console/), built once; only its dist/ goes into the image
FROM node:20-slim AS console
WORKDIR /console
COPY web/console/package.json web/console/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/console/ ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# weasyprint renders the mediation documents as PDF: it needs Pango, and the documents need a CJK font
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

# dependencies first, so a code change does not reinstall them (every one ships a wheel)
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
COPY --from=console /console/dist web/console/dist

# nothing here writes to the image at run time: run unprivileged
RUN useradd --system --no-create-home --uid 10001 app
USER app

EXPOSE 8000
CMD ["uvicorn", "gateway.app:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--no-proxy-headers"]
