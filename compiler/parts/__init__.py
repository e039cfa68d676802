"""Template parts: small functions that add one concern's resources to a troposphere Template.

Each part is a function of a model slice (never of YAML) and returns the resources later parts refer to.
Parts shared by every topology (network, ecs, iam, logs, secrets, schedule, alerts, image) assume no front
door; front-door parts (alb) bring their own security-group rules and alarm definitions.
"""
