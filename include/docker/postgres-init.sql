-- Run once by the postgres image when it makes its cluster (docker-entrypoint-initdb.d): the
-- schema registry's own database beside Airflow's (docker-compose.yml, schema-registry).
CREATE DATABASE registry;
