-- Run once by the postgres image of deploy/federation/docker-compose.yml on an empty data
-- directory. Each hub's services own their own databases (in a real federation each hub
-- runs its own PostgreSQL; one server here keeps the example small).
CREATE DATABASE tandem_north_registry OWNER tandem;
CREATE DATABASE tandem_north_matcher OWNER tandem;
CREATE DATABASE tandem_north_events OWNER tandem;
CREATE DATABASE tandem_north_notifier OWNER tandem;
CREATE DATABASE tandem_south_registry OWNER tandem;
CREATE DATABASE tandem_south_matcher OWNER tandem;
CREATE DATABASE tandem_south_events OWNER tandem;
CREATE DATABASE tandem_south_notifier OWNER tandem;
