"""The audit trail: a record of every API call, PHI access marked as such."""
