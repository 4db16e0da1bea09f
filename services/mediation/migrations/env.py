from common.migrations import run_migrations
from services.mediation.models import Base

run_migrations(Base.metadata)
