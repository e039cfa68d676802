"""What Kubernetes users write is understood: CPU as vCPU or millicores, memory in Mi/Gi, days in any case.
(What cannot be understood is explained: tests/cases/invalid/quantities.yaml.)"""

import pytest

from compiler.model import Schedule, Task


@pytest.mark.parametrize("cpu, memory, expected", [
    (256, 512, (256, 512)),                 # Fargate's own units
    ("250m", "512Mi", (256, 512)),
    (0.25, "0.5Gi", (256, 512)),
    ("0.5", "1Gi", (512, 1024)),
    (1, 2048, (1024, 2048)),                # cpu: 1 is one vCPU
    ("1000m", "2048", (1024, 2048)),
    (2, "4Gi", (2048, 4096)),
    (16, "120Gi", (16384, 122880)),
    ("4096", "8 Gi", (4096, 8192)),
])
def test_kubernetes_quantities_become_fargate_units(cpu, memory, expected):
    task = Task(cpu=cpu, memory=memory)
    assert (task.cpu, task.memory) == expected


def test_days_are_read_in_any_case():
    schedule = Schedule(timezone="UTC", activeHours="08:00-18:00", days=["Mon", "tue", "WED"])
    assert schedule.days == ["MON", "TUE", "WED"]
