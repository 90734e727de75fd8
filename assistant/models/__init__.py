"""Who writes the answers: the backends behind one interface (`backends`), the chat models
they wrap (`llm`: one registry from backend name to factory) and the local llama.cpp worker
(`local_worker`, supervised by `worker_guard`)."""
