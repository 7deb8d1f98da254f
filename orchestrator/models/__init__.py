"""pydantic models: the single definition of every object, over HTTP and on the broker."""
from .base import Model, new_id, utcnow
from .deployments import Deployment, DeploymentCreate
from .flow_runs import (LAUNCH_FD_VARIABLE, REPORT_FD_VARIABLE, ClaimedRun, ClaimRequest, FlowRun, FlowRunCreate,
                        FlowRunDetail, StateProposal, StateRecord)
from .logs import Log, LogCreate
from .messages import DispatchMessage
from .work_pools import (DEFAULT_QUEUE, LimitUsage, SlotHolder, WorkPool, WorkPoolCreate,
                         WorkPoolDetail, WorkPoolUpdate, WorkQueue, WorkQueueCreate,
                         WorkQueueDetail, WorkQueueUpdate, WorkerStatus)

__all__ = [
    "LAUNCH_FD_VARIABLE", "REPORT_FD_VARIABLE", "ClaimedRun", "ClaimRequest", "DEFAULT_QUEUE", "Deployment", "DeploymentCreate",
    "DispatchMessage", "FlowRun", "FlowRunCreate", "FlowRunDetail", "Log", "LogCreate", "Model",
    "LimitUsage", "SlotHolder", "StateProposal", "StateRecord", "WorkPool", "WorkPoolCreate",
    "WorkPoolDetail", "WorkPoolUpdate", "WorkQueue", "WorkQueueCreate", "WorkQueueDetail",
    "WorkQueueUpdate", "WorkerStatus",
    "new_id", "utcnow",
]
