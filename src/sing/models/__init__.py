"""Models: sequence generator, convolutional encoder/decoder, autoencoder, SING, model files."""
