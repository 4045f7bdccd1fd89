"""Fault testing of the whole system: the delivery checker, the workload that feeds it, the
faults (nemesis) and the processes they hurt. No tests in here; the scenarios are
tests/integration/test_faults.py (short) and tests/chaos/test_faults_long.py (long)."""
