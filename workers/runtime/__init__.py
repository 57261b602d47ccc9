"""What every process needs: the database pool, logging, Sentry, embedded servers, the role guard."""
