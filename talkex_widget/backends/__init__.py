"""History stores and pubsubs behind small interfaces, chosen by URL; they import only the core."""
