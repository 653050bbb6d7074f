-- Run once by the postgres image on an empty data directory (mounted into
-- /docker-entrypoint-initdb.d by docker-compose.yml). Each service owns its own database;
-- the services create their tables themselves (alembic, on start-up).
CREATE DATABASE tandem_registry OWNER tandem;
CREATE DATABASE tandem_matcher OWNER tandem;
CREATE DATABASE tandem_events OWNER tandem;
CREATE DATABASE tandem_notifier OWNER tandem;
