"""The AWS test harness: moto on loopback with the operations it lacks, fault injection, a fake iam-toolbox, seeding."""
