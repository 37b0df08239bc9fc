"""Release health gate on the real deployment: one DAG per mode (deferrable on the real triggerer, and
reschedule on the real scheduler), through the connection ``release_health_sentry``."""

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_sentry.sensors.releases import ReleaseHealthSensor

for mode in ("deferrable", "reschedule"):
    with DAG(
        f"release_health_gate_{mode}",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        params={"version": "backend@1.0.0"},
    ):
        ReleaseHealthSensor(
            task_id="gate",
            version="{{ params.version }}",
            environment="production",
            projects=["backend"],
            min_crash_free_rate=0.99,
            min_sessions=10,
            sentry_conn_id="release_health_sentry",
            # Reschedule: 10 s, not 2. Each poke is a new workload under the same try number, and Airflow
            # 3.3's scheduler fails a task instance that is scheduled or queued for its next poke when the
            # executor's late "success" for the previous poke arrives (apache/airflow#71172, fix
            # apache/airflow#71194 not released). The task-sdk supervisor reports a finished poke up to
            # [workers] min_heartbeat_interval (5 s) late, so the next poke must come due after that.
            poke_interval=10 if mode == "reschedule" else 2,
            timeout=900,  # generous: a loaded CI machine takes seconds per reschedule
            mode="reschedule" if mode == "reschedule" else "poke",
            deferrable=mode == "deferrable",
        )
