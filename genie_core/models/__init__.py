"""The three Genie models (video tokenizer, latent action model, dynamics model) and their frozen configs."""
