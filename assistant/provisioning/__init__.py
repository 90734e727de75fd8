"""Installing and checking what the assistant runs on: the llama.cpp build (`llama_build`),
the models (`model_install`) and `kenbron doctor` (`doctor`)."""
