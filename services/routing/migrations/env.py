from common.migrations import run_migrations
from services.routing.models import Base

run_migrations(Base.metadata)
