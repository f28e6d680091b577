"""The release phase: bring the schema to the current version (safe to run again)."""

from microblog.store import database

STEPS = [
    "CREATE TABLE users (name text PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE sessions (token text PRIMARY KEY, name text NOT NULL REFERENCES users(name))",
    "CREATE TABLE posts (id serial PRIMARY KEY, author text NOT NULL REFERENCES users(name), body text NOT NULL, "
    "delivered boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now())",
]


def main():
    conn = database()
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        cur.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        current = cur.fetchone()[0]
        for number, step in enumerate(STEPS[current:], start=current + 1):
            cur.execute(step)
            cur.execute("INSERT INTO schema_version VALUES (%s)", (number,))
            print("migrated to schema version %d" % number, flush=True)
        print("schema at version %d" % len(STEPS), flush=True)
    conn.close()


if __name__ == "__main__":
    main()
