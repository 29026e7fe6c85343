% Runs the authors' SVD-, AM- and prior ("sota") KroSBL functions (JournalKroSBL, KroSBL_f/functions) on the
% problems written by export_problems.py and saves their NMSE, iteration-independent outputs only.
%   octave --no-gui --eval "refdir='PATH/KroSBL_f/functions'; infile='P.mat'; outfile='R.mat'; run_reference"
addpath(refdir);
S = load(infile);
func_ctrl.noisy_convergence = 0;
R_max = 150;
names = cellstr(S.names);
out = struct();
for t = 1:numel(names)
  nm = strtrim(names{t});
  A1s = S.([nm '_A1']); A2s = S.([nm '_A2']); A3s = S.([nm '_A3']);
  Y = S.([nm '_y']); X = S.([nm '_x']); NV = S.([nm '_nv']);
  B = size(Y, 1);
  N = size(A1s, 3);
  err = zeros(B, 3); srr = zeros(B, 3);
  for b = 1:B
    A1 = squeeze(A1s(b, :, :)); A2 = squeeze(A2s(b, :, :)); A3 = squeeze(A3s(b, :, :));
    y = Y(b, :).'; x = X(b, :).'; nv = NV(b);
    A = kron(A1, kron(A2, A3));
    m = svd_kroSBL(nv, y, A1, A2, A3, A, N, R_max, x, func_ctrl);  err(b, 1) = m{1, 2}; srr(b, 1) = m{3, 2};
    m = am_kroSBL(nv, y, A1, A2, A3, A, N, R_max, x, func_ctrl);   err(b, 2) = m{1, 2}; srr(b, 2) = m{3, 2};
    m = sota_kroSBL(nv, y, A1, A2, A3, A, N, R_max, x, func_ctrl); err(b, 3) = m{1, 2}; srr(b, 3) = m{3, 2};
    printf('%s problem %d: svd %.2f am %.2f sota %.2f dB\n', nm, b, 10*log10(err(b, :)));
    fflush(stdout);
    out.([nm '_err']) = err(1:b, :);
    out.([nm '_srr']) = srr(1:b, :);
    save('-v7', outfile, '-struct', 'out');  % after every problem: a long run keeps what it has
  end
end
