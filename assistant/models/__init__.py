"""Who writes the answers: the providers of chat models, one table (`providers`); the writers
behind one interface (`writers`); the local model as a chat model (`llm`), its file
(`model_file`) and its llama.cpp worker (`local_worker`, supervised by `worker_guard`)."""
