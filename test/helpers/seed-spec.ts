/**
 * The KITeGG seed's example spec, verbatim (comments included): `gpu: 'nvidia/gpu'` is one of the
 * default GPU options. Shared by the specs unit tests and the services integration tests.
 */
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
