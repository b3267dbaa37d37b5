# Writes netcdf-c.nc (and no-date.nc, below) with the netCDF-C library (python netCDF4), shaped as Caravan's netCDF files: an int64 `date`
# coordinate in "days since 1951-01-01", float64 variables along it, a -9999 fill value, a variable on
# another dimension, and a scalar. test/generic-dataset.test.ts reads it. Run: python3 make-netcdf-c-fixture.py
import netCDF4
import numpy as np

d = netCDF4.Dataset('netcdf-c.nc', 'w', format='NETCDF4')
d.createDimension('date', 5)
d.createDimension('band', 2)
date = d.createVariable('date', 'i8', ('date',))
date.units = 'days since 1951-01-01 00:00:00'
date.calendar = 'proleptic_gregorian'
# 2000-01-01 .. 2000-01-06 with 2000-01-04 absent (a gap)
date[:] = np.array([17897, 17898, 17899, 17901, 17902])
p = d.createVariable('total_precipitation_sum', 'f8', ('date',), fill_value=-9999.0)
p[:] = np.ma.masked_array([1.5, 0.0, 2.25, -9999.0, 3.0], mask=[False, False, False, True, False])
q = d.createVariable('streamflow', 'f4', ('date',))
q[:] = np.array([0.5, 0.25, np.nan, 1.0, 0.75], dtype='f4')
b = d.createVariable('band_values', 'f4', ('band',))
b[:] = [1, 2]
s = d.createVariable('area', 'f8', ())
s[...] = 42.0
d.close()

# no-date.nc: a netCDF-4 file without a `date` or `time` variable.
d = netCDF4.Dataset('no-date.nc', 'w', format='NETCDF4')
d.createDimension('day', 2)
d.createVariable('prcp', 'f4', ('day',))[:] = [1, 2]
d.close()
