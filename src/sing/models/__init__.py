"""Models: sequence generator, convolutional encoder/decoder, autoencoder, SING, model files."""

from sing.models.autoencoder import Autoencoder
from sing.models.config import PRESETS, SingConfig
from sing.models.decoder import Decoder
from sing.models.encoder import Encoder
from sing.models.io import ModelInfo, load_model_file, read_info, save_model
from sing.models.sequence_generator import SequenceGenerator
from sing.models.sing import SING

__all__ = [
    "PRESETS",
    "SING",
    "Autoencoder",
    "Decoder",
    "Encoder",
    "ModelInfo",
    "SequenceGenerator",
    "SingConfig",
    "load_model_file",
    "read_info",
    "save_model",
]
