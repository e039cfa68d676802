"""The EC2 stand-in of the boot-script tests: moto_server, made as strict as EC2 where the script depends on it.

    python -m tests.nat.ec2 -H 127.0.0.1 -p PORT        (the arguments of moto_server)

EC2 refuses `modify-instance-attribute --no-source-dest-check` on an instance with more than one network
interface ("There are multiple interfaces attached to instance ... Please specify an interface ID for the
operation instead."); moto 5.2.5 accepts it, so a NAT boot script relying on it passed here and never finished
booting on AWS. This process patches moto's EC2 backend to refuse it the same way, then serves as moto_server.
"""

from __future__ import annotations

import sys

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import InstanceBackend
from moto.server import main

_accept = InstanceBackend.modify_instance_attribute


def modify_instance_attribute(self, instance_id: str, key: str, value):
    instance = self.get_instance(instance_id)
    if key == "source_dest_check" and len(instance.nics) > 1:
        raise EC2ClientError(
            "InvalidInstanceID", f"There are multiple interfaces attached to instance '{instance_id}'. "
            "Please specify an interface ID for the operation instead.")
    return _accept(self, instance_id, key, value)


InstanceBackend.modify_instance_attribute = modify_instance_attribute

if __name__ == "__main__":
    main(sys.argv[1:])
