"""Operating deployed stacks: `deploy`, `status`, `logs`, `wake`, `sleep`, `destroy` (one module per command).

Every AWS call goes through `aws.py`; nothing here is imported by `build` (cli.py registers the commands
through `commands.py`, which imports only argparse-level code).
"""
