"""``python -m frontdesk_bridge`` runs the bridge server (same as ``frontdesk bridge``)."""

from frontdesk_bridge.server import main

if __name__ == "__main__":
    main()
