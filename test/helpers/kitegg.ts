/** The KITeGG endpoint seed's service spec, for the suites that drive its routes. */

/** The seed's example, verbatim: `gpu: 'nvidia/gpu'` is one of the default GPU options. */
export const SEED_YAML = `containers:
  # Mandatory values
  - name: nginx
    image: "nginx:latest"
    ports:
      - name: default
        port: 80
    # Optional fields
    gpu: 'nvidia/gpu'  # Request a GPU resource (see below for valid options)
    # Volume mounts are optional as you can also deploy without persistence
    volumeMounts:
      - name: mydata
        mountPath: /mydata
        # This can optionally be set to read-only
        readOnly: true

# The volumes section is only mandatory if mounts are specified (name has to match)
volumes:
  - name: mydata
    size: 1Gi  # This can be anything between 1-999 Gi or Mi
`;

/** The same, with the GPU line removed as the seed allows: the kwok node offers no GPUs, so only this one runs. */
export const SEED_YAML_NO_GPU = SEED_YAML.replace("    gpu: 'nvidia/gpu'  # Request a GPU resource (see below for valid options)\n", "");
