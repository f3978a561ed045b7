"""The notebook side: ChatWidget, relay, embedded server, discovery, magics, sharing."""
