"""Queue workers (issue 15): ``python -m workers`` (or ``make worker``) runs queued model runs from Redis.

Start as many as you like on any machine that reaches the queue's Redis (``MODEL_WORKER_URL``, or
``REDIS_URL``) and the database (the sqlite file, or Supabase with ``SUPABASE_SERVICE_ROLE_KEY``), with
the app's ``MODEL_WORKER_SECRET``. See services/queue.py for the states, claims and heartbeats.
"""
