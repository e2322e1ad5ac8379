def read_hand(pipeline, target, name):
    raise NotImplementedError
