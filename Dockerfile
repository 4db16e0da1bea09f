# Two images (docker-compose.yml and deploy/kubernetes name both):
#   --target platform  the five services, the migration Job and the tools, without PDF rendering:
#                      nameko run --config deploy/nameko.yaml services.<name>.service:<Name>Service
#   --target gateway   (the default) the gateway: uvicorn, the built web apps, and weasyprint with
#                      Pango and a CJK font for the PDF documents (requirements-pdf.txt)
# Both install from a lock with hashes (pip-compile: requirements*.in -> requirements*.txt).

# the web apps (web/console/, web/portal/; the portal builds with the console's labels), built once
# with the Makefile's rules; only their dist/ goes into the image
FROM node:20-slim AS web
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY web/console/package.json web/console/package-lock.json web/console/
COPY web/portal/package.json web/portal/package-lock.json web/portal/
RUN cd web/console && npm ci --no-audit --no-fund && cd ../portal && npm ci --no-audit --no-fund
COPY Makefile ./
COPY web/ web/
RUN touch web/*/node_modules/.installed && make web

FROM python:3.11-slim AS python

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# nothing here writes to the image at run time: run unprivileged
RUN useradd --system --no-create-home --uid 10001 app

FROM python AS platform
# dependencies first, so a code change does not reinstall them (every one ships a wheel)
COPY requirements.txt .
RUN pip install --require-hashes -r requirements.txt
COPY . .
USER app

FROM python AS gateway
# weasyprint renders the mediation documents as PDF: it needs Pango, and the documents need a CJK font
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
# every package of requirements.txt, at the same versions, and weasyprint
COPY requirements-pdf.txt .
RUN pip install --require-hashes -r requirements-pdf.txt
COPY . .
COPY --from=web /src/web/console/dist web/console/dist
COPY --from=web /src/web/portal/dist web/portal/dist
USER app
EXPOSE 8000
CMD ["uvicorn", "gateway.app:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--no-proxy-headers"]
