#!/bin/bash
# Boot script of the NAT instance (Amazon Linux 2023), run by cloud-init as EC2 user data.
#
# The compiler puts the settings right below the first line:
#   NAT_ENI_ID    the static network interface that the private route table targets
#   NAT_VPC_CIDR  the only source addresses translated (the VPC's own)
#   NAT_REGION    the region of the instance and the interface
#   NAT_STACK     the stack, signalled once the NAT works (its creation waits for that, so tasks start with egress)
#
# Steps, each idempotent: attach the static interface as the second one, wait for its device, turn off the
# source/destination check of the primary interface (by its ID: EC2 refuses the instance-level call once two
# interfaces are attached), enable forwarding with loose reverse-path filtering, masquerade out of the primary
# interface, install itself to run again on every boot (the kernel forgets all of it on a reboot), and signal
# the stack.
# Any failure is loud: a FATAL line on the console (aws ec2 get-console-output) and the instance powers off;
# the launch template's InstanceInitiatedShutdownBehavior=terminate makes the Auto Scaling group replace it.
# A NAT that boots without its interface or its masquerade rule is the known failure mode of fck-nat.
#
# Tests source this file with NAT_BOOT_SOURCE_ONLY=1 to run single steps, or run it whole in a network
# namespace with NAT_IMDS_URL, NAT_PER_BOOT_COPY and NAT_TEST_POWER_OFF_FILE pointing at stand-ins.
set -euo pipefail

ATTACH_ATTEMPTS=${NAT_ATTACH_ATTEMPTS:-30}        # a terminating predecessor may still hold the interface
ATTACH_RETRY_SECONDS=${NAT_ATTACH_RETRY_SECONDS:-10}
INTERFACE_WAIT_SECONDS=${NAT_INTERFACE_WAIT_SECONDS:-120}
PER_BOOT_COPY=${NAT_PER_BOOT_COPY:-/var/lib/cloud/scripts/per-boot/nat-instance-boot.sh}
IMDS=${NAT_IMDS_URL:-http://169.254.169.254/latest}

log() {
  printf 'nat-boot: %s\n' "$*" >&2
}

fail() {
  log "FATAL: $*"
  if [[ -w /dev/console ]]; then
    printf 'nat-boot: FATAL: %s\n' "$*" >/dev/console || true
  fi
  return 1
}

imds() {
  local token
  token=$(curl -sSf --retry 5 -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
  curl -sSf --retry 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/$1"
}

# The name of the network device with this MAC address, or nothing.
interface_with_mac() {
  local wanted device
  wanted=$(tr '[:upper:]' '[:lower:]' <<<"$1")
  for device in /sys/class/net/*; do
    if [[ "$(cat "$device/address" 2>/dev/null)" == "$wanted" ]]; then
      basename "$device"
      return 0
    fi
  done
}

# Prints the device name once a device with this MAC exists; fails after the given number of seconds.
wait_for_interface() {
  local mac=$1 seconds=$2 device waited=0
  while true; do
    device=$(interface_with_mac "$mac")
    if [[ -n "$device" ]]; then
      printf '%s\n' "$device"
      return 0
    fi
    if ((waited >= seconds)); then
      fail "no network device with MAC $mac appeared within $seconds s"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

eni_field() {
  aws ec2 describe-network-interfaces --region "$NAT_REGION" --network-interface-ids "$1" \
    --query "NetworkInterfaces[0].$2" --output text
}

# Attaches the interface as device 1 unless it already is attached here; waits while another instance holds it.
attach_eni() {
  local eni=$1 instance=$2 holder attempt
  for ((attempt = 1; attempt <= ATTACH_ATTEMPTS; attempt++)); do
    holder=$(eni_field "$eni" Attachment.InstanceId)
    if [[ "$holder" == "$instance" ]]; then
      log "$eni is attached to $instance"
      return 0
    fi
    if [[ "$holder" == "None" ]]; then
      aws ec2 attach-network-interface --region "$NAT_REGION" --network-interface-id "$eni" \
        --instance-id "$instance" --device-index 1 >/dev/null || log "attach attempt $attempt failed; retrying"
    else
      log "$eni is still attached to $holder (attempt $attempt); waiting"
    fi
    sleep "$ATTACH_RETRY_SECONDS"
  done
  fail "could not attach $eni to $instance after $ATTACH_ATTEMPTS attempts"
}

enable_forwarding() {
  local device
  sysctl -qw net.ipv4.ip_forward=1
  # Replies to the tasks leave through the primary interface, requests arrive on the static one: strict
  # reverse-path filtering would drop them. The kernel applies the higher of "all" and the device's value.
  sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  for device in "$@"; do
    sysctl -qw "net.ipv4.conf.$device.rp_filter=0"
  done
}

ensure_rule() {
  local table=$1
  shift
  iptables -t "$table" -C "$@" 2>/dev/null || iptables -t "$table" -A "$@"
}

# Translates traffic from the VPC leaving through the given device; forwards nothing else.
masquerade() {
  local out_device=$1 cidr=$2
  ensure_rule nat POSTROUTING -o "$out_device" -s "$cidr" -j MASQUERADE
  ensure_rule filter FORWARD -s "$cidr" -o "$out_device" -j ACCEPT
  ensure_rule filter FORWARD -d "$cidr" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
}

ensure_iptables() {
  if ! command -v iptables >/dev/null; then
    dnf install -y -q iptables-nft
  fi
}

# The Auto Scaling group's CreationPolicy waits for this; at any later boot CloudFormation refuses it, harmlessly.
signal_stack() {
  aws cloudformation signal-resource --region "$NAT_REGION" --stack-name "$NAT_STACK" \
    --logical-resource-id NatAutoScalingGroup --unique-id "$1" --status SUCCESS >/dev/null 2>&1 ||
    log "no stack creation waiting for a signal"
}

run_every_boot() {
  local self=$1
  if [[ "$self" != "$PER_BOOT_COPY" ]]; then
    install -D -m 0755 "$self" "$PER_BOOT_COPY"
  fi
}

main() {
  : "${NAT_ENI_ID:?set by the compiler}" "${NAT_VPC_CIDR:?set by the compiler}" "${NAT_REGION:?set by the compiler}"
  : "${NAT_STACK:?set by the compiler}"
  local instance primary_mac primary_eni primary_device eni_mac eni_device
  instance=$(imds instance-id)
  primary_mac=$(imds mac)
  primary_eni=$(imds "network/interfaces/macs/$primary_mac/interface-id")
  primary_device=$(wait_for_interface "$primary_mac" "$INTERFACE_WAIT_SECONDS")
  ensure_iptables
  attach_eni "$NAT_ENI_ID" "$instance"
  eni_mac=$(eni_field "$NAT_ENI_ID" MacAddress)
  eni_device=$(wait_for_interface "$eni_mac" "$INTERFACE_WAIT_SECONDS")
  # Replies to the tasks leave the primary interface with the internet's source address.
  aws ec2 modify-network-interface-attribute --region "$NAT_REGION" --network-interface-id "$primary_eni" \
    --no-source-dest-check
  enable_forwarding "$primary_device" "$eni_device"
  masquerade "$primary_device" "$NAT_VPC_CIDR"
  run_every_boot "$0"
  signal_stack "$instance"
  log "ready: $NAT_VPC_CIDR arrives on $eni_device ($NAT_ENI_ID), leaves masqueraded on $primary_device"
}

give_up_unless_ready() {
  local status=$?
  if ((status != 0)); then
    fail "boot failed with status $status; powering off so the Auto Scaling group replaces this instance" || true
    power_off
  fi
}

power_off() {
  if [[ -n "${NAT_TEST_POWER_OFF_FILE:-}" ]]; then
    touch "$NAT_TEST_POWER_OFF_FILE"
  else
    systemctl poweroff
  fi
}

if [[ "${NAT_BOOT_SOURCE_ONLY:-0}" != 1 ]]; then
  trap give_up_unless_ready EXIT
  main
fi
