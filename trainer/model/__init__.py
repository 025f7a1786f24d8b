"""The network (embedding -> recurrent layer -> affine head -> loss), built from a config;
running it over held-out data (scores, predictions, generation) and how far its gradient reaches."""
