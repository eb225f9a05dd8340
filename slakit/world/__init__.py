"""The outside world: files, Git, the clock, the resources shipped with slakit, CRM exports."""
