"""The webhook delivery job, run by the task worker (`insurdesk db_worker`)."""

from django_tasks import task

from insurdesk.webhooks.services import delivery_attempt


@task()
def deliver(delivery_id: int) -> str:
    """Send one webhook delivery; a failure queues the next attempt after its backoff."""
    return delivery_attempt(delivery_id)
