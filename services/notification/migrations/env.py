from common.migrations import run_migrations
from services.notification.models import Base

run_migrations(Base.metadata)
